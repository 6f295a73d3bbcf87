import os

from celery import Celery

# Servers and workers run production settings unless told otherwise: the demo and tests say so.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# DjangoTask gives every task delay_on_commit(), so work is only queued once the transaction that
# asked for it has committed.
app = Celery("followthrough", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
