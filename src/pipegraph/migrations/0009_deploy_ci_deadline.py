from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0008_ci')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Deploy',
            name='ci_deadline',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]
