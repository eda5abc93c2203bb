"""One running check per learner and unit, enforced by every database.

The rule used to be a partial unique index (unique where status is
"running"), which MySQL does not have: Django leaves it out there without a
word. It is now a plain unique constraint over the learner, the unit and a
marker that is true while the check runs and NULL after.
"""

from django.db import migrations, models

ENDED = "A newer check of the same lab unit was running at the same time."


def mark_running_checks(apps, schema_editor):
    """Only running checks keep the marker; where a database without the old
    index let two run at once, the newest keeps running and the others end
    as "could not run" (their learner sees the newest)."""
    ProgressCheck = apps.get_model("hastexo_lab", "ProgressCheck")
    ProgressCheck.objects.exclude(status="running").update(running=None)
    seen = set()
    for pk, learner, unit in (ProgressCheck.objects.filter(status="running")
                              .order_by("-started_at", "-pk")
                              .values_list("pk", "anonymous_student_id", "usage_id").iterator()):
        if (learner, unit) in seen:
            ProgressCheck.objects.filter(pk=pk).update(status="failed", running=None, message=ENDED)
        seen.add((learner, unit))


class Migration(migrations.Migration):

    dependencies = [
        ("hastexo_lab", "0005_usage_index"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="progresscheck",
            name="hxl_one_running_check",
        ),
        migrations.AddField(
            model_name="progresscheck",
            name="running",
            field=models.BooleanField(default=True, editable=False, null=True),
        ),
        migrations.RunPython(mark_running_checks, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="progresscheck",
            constraint=models.UniqueConstraint(fields=("anonymous_student_id", "usage_id", "running"),
                                               name="hxl_one_running_check"),
        ),
    ]
