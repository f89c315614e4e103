"""gunicorn settings shared by every way the app is served (Dockerfile, compose,
`make run`): gunicorn reads ./gunicorn.conf.py from its working directory."""

# Access lines without query strings, with the client address by TRUSTED_PROXIES.
logger_class = "eduplatform.access_log.AccessLogger"
