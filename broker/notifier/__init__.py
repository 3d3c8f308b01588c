"""The notifier: turns the tracker's alerts into email to the people each agency names.

`rules.py` decides, purely, who hears of an alert and what the email says (ids, agencies,
kinds, reasons and a link, never case content: alerts hold none). `service.py` runs one
alert through the sent log and the mail port, retrying while SMTP fails. The SQLite sent
log lives in `broker/store/notifier_store.py`, the SMTP client in `broker/mail/`, and the
FastStream consumer that feeds it in `broker/app/notifier.py`.
"""
