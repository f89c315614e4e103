"""Periodic jobs, run by `manage.py rqcron materials.cron` (started by `make run`)."""

from rq import cron

from materials.jobs import sweep_stalled_materials

# A killed worker or a lost queue leaves a material "processing" with no job
# behind it; every five minutes such materials are queued again.
cron.register(sweep_stalled_materials, queue_name="default", interval=300)
