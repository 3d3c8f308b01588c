"""What services need from a message broker, independent of any client library."""
