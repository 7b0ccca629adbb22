from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0012_cli_logins')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ReviewApp',
            name='worked_sha',
            field=fields.CharField(null=True, max_length=40),
        ),
        # Review apps there are: their built commit was worked on; any other wanted commit is the reconciler's.
        ops.RunSQL("UPDATE review_apps SET worked_sha = building_sha", reverse_sql=ops.RunSQL.noop),
    ]
