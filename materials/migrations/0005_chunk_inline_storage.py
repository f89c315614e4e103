"""Keep each chunk's vector and tsvector inside its table row.

A chunk row (text, tsvector, 384-float vector) is ~3.7 kB, over PostgreSQL's
default 2 kB TOAST threshold, so the vector and the tsvector were moved to the
TOAST table and every search read each one back through the TOAST index: at
200,000 chunks (bench/search.py) that fetch was most of the search time
(exact vector sort over one student's 4,000 chunks 21 ms -> 4.5 ms inline).
With a 4 kB threshold and MAIN storage a typical row stays whole; a longer
row still sends its text (EXTENDED) to TOAST first. The UPDATE rewrites rows
stored before this migration (the tsvector is regenerated from the text).
"""

from django.db import migrations

FORWARD = """
ALTER TABLE materials_chunk
    ALTER COLUMN embedding SET STORAGE MAIN,
    ALTER COLUMN search_vector SET STORAGE MAIN;
ALTER TABLE materials_chunk SET (toast_tuple_target = 4080);
UPDATE materials_chunk SET embedding = embedding::real[]::vector, text = text || '';
"""

BACKWARD = """
ALTER TABLE materials_chunk
    ALTER COLUMN embedding SET STORAGE EXTERNAL,
    ALTER COLUMN search_vector SET STORAGE EXTENDED;
ALTER TABLE materials_chunk RESET (toast_tuple_target);
"""


class Migration(migrations.Migration):
    dependencies = [("materials", "0004_content_report_material")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
