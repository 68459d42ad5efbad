"""Notifications: a transactional outbox of email and in-app messages (DESIGN §3, §6, §8).

- `registry`: the kinds of message; each is one function from an audit event to its recipients
  and payloads (`@kind(...)`), plus its two templates under templates/mail/.
- `outbox`: the subscriber on `participation.events` that writes a kind's rows (one email, one
  in-app) in the transaction of the event, so a rolled-back change sends nothing.
- `kinds`: the messages themselves (the receipt on submission, the withdrawal confirmation);
  `kinds_meeting` (invitation, meeting reminder), `kinds_outcome` (outcome, correction),
  `kinds_follow_up` (each follow-up update of a funded proposal),
  `kinds_scheduled` (draft reminder, staff summary, digest).
- `schedule`: the worker's scan that writes the reminders, daily summaries and digests, once each.
- `preferences` and `forms`: each user's choice per kind, the digest's one-click unsubscribe.
- `render`: a row's subject, summary, plain text and HTML in its recipient's language, with links
  from PUBLIC_BASE_URL (never the request's Host header).
- `delivery`: the worker's half (`flask send-notifications`, `flask run-jobs`): claims due email
  rows under a lease, sends them over SMTP (Flask-Mail) or writes .eml files, retries with backoff.
- `services`: marking read, sending a failed message again; `routes`: the bell's page.
"""
