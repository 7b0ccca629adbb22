from tortoise import migrations
from tortoise.migrations import operations as ops
from pipegraph.ci.models import TestRunStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0007_github')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PipelineCi',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.OneToOneField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='ci', on_delete=OnDelete.CASCADE)),
                ('enabled', fields.BooleanField(default=False)),
                ('cancel_superseded', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pipeline_ci', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': "A pipeline's CI switch (Heroku's pipeline-repository `ci`), and how it keeps up with pushes."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TestRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='test_runs', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('commit_sha', fields.CharField(max_length=64)),
                ('commit_branch', fields.CharField(max_length=255)),
                ('commit_message', fields.TextField(null=True, unique=False)),
                ('actor', fields.ForeignKeyField('pipegraph.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='test_runs', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=TestRunStatus.PENDING, description='PENDING: pending\nCREATING: creating\nBUILDING: building\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nERRORED: errored\nCANCELLED: cancelled', enum_type=TestRunStatus, max_length=16)),
                ('message', fields.TextField(null=True, unique=False)),
                ('source_app', fields.ForeignKeyField('pipegraph.App', source_field='source_app_id', null=True, db_constraint=True, to_field='id', related_name='test_runs', on_delete=OnDelete.SET_NULL)),
                ('source', fields.ForeignKeyField('pipegraph.Source', source_field='source_id', null=True, db_constraint=True, to_field='id', related_name='test_runs', on_delete=OnDelete.SET_NULL)),
                ('repository', fields.CharField(null=True, max_length=200)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', null=True, db_constraint=True, to_field='id', related_name='ci_runs', on_delete=OnDelete.SET_NULL)),
                ('app_name', fields.CharField(null=True, max_length=30)),
                ('node_count', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'test_runs', 'app': 'pipegraph', 'unique_together': (('pipeline', 'number'),), 'pk_attr': 'id', 'table_description': 'One commit tested: numbered 1, 2, 3… per pipeline, with no gaps.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TestNode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('test_run', fields.ForeignKeyField('pipegraph.TestRun', source_field='test_run_id', db_constraint=True, to_field='id', related_name='nodes', on_delete=OnDelete.CASCADE)),
                ('index', fields.IntField(default=0)),
                ('status', fields.CharEnumField(default=TestRunStatus.PENDING, description='PENDING: pending\nCREATING: creating\nBUILDING: building\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nERRORED: errored\nCANCELLED: cancelled', enum_type=TestRunStatus, max_length=16)),
                ('exit_code', fields.IntField(null=True)),
                ('message', fields.TextField(null=True, unique=False)),
                ('output', fields.TextField(default='', unique=False)),
                ('attempts', fields.IntField(default=0)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'test_nodes', 'app': 'pipegraph', 'unique_together': (('test_run', 'index'),), 'pk_attr': 'id', 'table_description': "One worker's share of a run, worked by one arq job at a time (a lease, like a build)."},
            bases=['Model'],
        ),
    ]
