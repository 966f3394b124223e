"""The Celery worker process: app, configuration, signals and task entry points."""
