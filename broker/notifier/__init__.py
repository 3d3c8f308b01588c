"""The notifier: turns the tracker's alerts and the gateways' arrival events into email to
the people each agency names, each in their own language and time zone.

`rules.py` decides, purely, who hears of an alert or an arrival; `emails.py` writes the
emails from the templates in `templates/` (ids, agencies, kinds, reasons, urgency and a
link, never case content: alerts and events hold none), with the words of `labels.py`.
`service.py` runs one alert or event through the sent log and the mail port, retrying while
SMTP fails. The SQLite sent
log lives in `broker/store/notifier_store.py`, the SMTP client in `broker/mail/`, and the
FastStream consumers that feed it in `broker/app/notifier.py`.
"""
