from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0003_teams_and_access')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Release',
            name='attempts',
            field=fields.IntField(default=0),
        ),
    ]
