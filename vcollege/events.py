"""Domain signals: how a lower area makes a higher one act without importing it.

Senders fire inside the service that made the change, with the SQLAlchemy session, the
actor and `now`; receivers write through the same session and never commit, so the
reaction commits or rolls back with its cause.

Every signal is sent as `signal.send(sender_name, session=..., now=..., **payload)`.
"""

from blinker import Namespace

signals = Namespace()

# core
person_created = signals.signal("person-created")  # person
role_changed = signals.signal("role-changed")  # person, role, granted: bool

# learning
enrolment_created = signals.signal("enrolment-created")  # enrolment
completion_recorded = signals.signal("completion-recorded")  # completion (score None when the whole course was waived)
score_changed = signals.signal("score-changed")  # person, course_slug, score (0-100), key (unique per change), enrolment
credential_revoked = signals.signal("credential-revoked")  # completion, reason

# scholarships
award_made = signals.signal("award-made")  # award
award_declined = signals.signal("award-declined")  # award
