import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("hastexo_lab", "0003_terminal_tickets"),
    ]

    operations = [
        migrations.AddField(
            model_name="stack",
            name="relaunch_after_delete",
            field=models.BooleanField(default=False, verbose_name="relaunch when deleted"),
        ),
        migrations.AddField(
            model_name="stack",
            name="username",
            field=models.CharField(blank=True, max_length=64, verbose_name="user on the lab"),
        ),
        migrations.CreateModel(
            name="ProgressCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("anonymous_student_id", models.CharField(max_length=64, verbose_name="anonymous learner id")),
                ("usage_id", models.CharField(max_length=255, verbose_name="lab unit")),
                ("status", models.CharField(choices=[("running", "running"), ("done", "done"),
                                                     ("failed", "could not run")],
                                            default="running", max_length=16, verbose_name="status")),
                ("passed", models.PositiveIntegerField(default=0, verbose_name="passed")),
                ("total", models.PositiveIntegerField(default=0, verbose_name="checks")),
                ("hints", models.JSONField(blank=True, default=list, verbose_name="hints")),
                ("message", models.TextField(blank=True, verbose_name="message")),
                ("resumed_lab", models.BooleanField(default=False, verbose_name="resumed the lab first")),
                ("published", models.BooleanField(default=False, verbose_name="grade published")),
                ("started_at", models.DateTimeField(verbose_name="started")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished")),
                ("stack", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="checks",
                                            to="hastexo_lab.stack")),
            ],
            options={
                "verbose_name": "progress check",
                "verbose_name_plural": "progress checks",
                "indexes": [models.Index(fields=["anonymous_student_id", "usage_id", "started_at"],
                                         name="hxl_check_idx")],
                "constraints": [models.UniqueConstraint(condition=models.Q(("status", "running")),
                                                        fields=("anonymous_student_id", "usage_id"),
                                                        name="hxl_one_running_check")],
            },
        ),
    ]
