import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("hastexo_lab", "0002_stack_create_lease_until"),
    ]

    operations = [
        migrations.AddField(
            model_name="stack",
            name="host_key",
            field=models.TextField(blank=True, editable=False, verbose_name="SSH host key"),
        ),
        migrations.CreateModel(
            name="TerminalTicket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                ("browser_hash", models.CharField(max_length=64)),
                ("anonymous_student_id", models.CharField(max_length=64, verbose_name="anonymous learner id")),
                ("username", models.CharField(max_length=64, verbose_name="user on the lab")),
                ("protocol", models.CharField(choices=[("ssh", "SSH"), ("rdp", "RDP"), ("vnc", "VNC")],
                                              default="ssh", max_length=8, verbose_name="protocol")),
                ("port", models.PositiveIntegerField(verbose_name="port")),
                ("read_only", models.BooleanField(default=False, verbose_name="read-only")),
                ("created_at", models.DateTimeField(verbose_name="created")),
                ("expires_at", models.DateTimeField(verbose_name="expires")),
                ("redeemed_at", models.DateTimeField(blank=True, null=True, verbose_name="redeemed")),
                ("stack", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                            related_name="terminal_tickets", to="hastexo_lab.stack")),
            ],
            options={
                "verbose_name": "terminal ticket",
                "verbose_name_plural": "terminal tickets",
                "indexes": [models.Index(fields=["expires_at"], name="hxl_ticket_expires_idx")],
            },
        ),
    ]
