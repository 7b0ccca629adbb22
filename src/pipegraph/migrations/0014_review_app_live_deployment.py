from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0013_review_app_worked_sha')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ReviewApp',
            name='live_deployment_id',
            field=fields.BigIntField(null=True),
        ),
    ]
