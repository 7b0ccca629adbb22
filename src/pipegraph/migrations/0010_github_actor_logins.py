from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0009_deploy_ci_deadline')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Deploy',
            name='actor_login',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='TestRun',
            name='actor_login',
            field=fields.CharField(null=True, max_length=100),
        ),
    ]
