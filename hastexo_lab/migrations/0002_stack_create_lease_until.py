from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("hastexo_lab", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="stack",
            name="create_lease_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
