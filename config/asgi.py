import os

from django.core.asgi import get_asgi_application

# Servers and workers run production settings unless told otherwise: the demo and tests say so.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
