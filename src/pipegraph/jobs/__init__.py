"""Background jobs as the domains see them: a kind named once, the job to enqueue after commit, and what a running
job is given. The arq side (the functions bound to each kind, cron, the worker process) lives in `workers/`, which
imports the domains; the domains import only this package."""
