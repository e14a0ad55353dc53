"""Learning: enrolments, module progress, quizzes, completions, certificates and Open Badges."""
