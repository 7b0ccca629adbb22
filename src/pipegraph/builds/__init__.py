"""Builds: source in, buildpacks run (Heroku's classic API), a slug and a release out."""
