"""A RentEngine user's name moves to the dashboard, per account (dashboard 0004 copies it first)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rentengine", "0014_webhook_held")]

    operations = [
        migrations.AlterModelOptions(name="rentengineuser", options={"ordering": ["id"]}),
        migrations.RemoveField(model_name="rentengineuser", name="name"),
    ]
