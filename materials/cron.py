"""Periodic jobs, run by `manage.py rqcron materials.cron` (started by `make run`)."""

from rq import cron

from materials.jobs import sweep_stalled_materials

# A killed worker or a lost queue leaves a material "processing" with no job
# behind it; every five minutes the sweep asks RQ and queues such materials
# again (and fails study content left "being made" with no job).
cron.register(sweep_stalled_materials, queue_name="default", interval=300)
