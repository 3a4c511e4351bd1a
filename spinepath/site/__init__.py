"""The site on top of the apps: settings, URLs, the WSGI entry and the server that runs it."""
