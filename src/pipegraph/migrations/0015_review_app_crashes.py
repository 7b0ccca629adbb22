from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0014_review_app_live_deployment')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ReviewApp',
            name='crashes',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='ReviewApp',
            name='next_try_at',
            field=fields.DatetimeField(null=True),
        ),
    ]
