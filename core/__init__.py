"""Plumbing shared by every package: settings, database, jobs, clock, Twilio, auth, API."""
