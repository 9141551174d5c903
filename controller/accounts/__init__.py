"""Web accounts: users, roles, login sessions, CSRF and login throttling."""
