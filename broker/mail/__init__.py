"""Email out: the SMTP client of the notifier (aiosmtplib)."""
