from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0010_github_actor_logins')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ReviewApp',
            name='ci_deadline',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]
