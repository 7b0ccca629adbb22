from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from pipegraph.github.models import DeliveryOutcome, DeployStatus
from pipegraph.pipelines.models import Stage
from pipegraph.reviewapps.models import ReviewAppStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0006_browser_sessions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AutomaticDeploy',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.OneToOneField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='automatic_deploy', on_delete=OnDelete.CASCADE)),
                ('branch', fields.CharField(max_length=255)),
                ('wait_for_ci', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'github_automatic_deploys', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Deploy',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='github_deploys', on_delete=OnDelete.CASCADE)),
                ('repository', fields.CharField(max_length=140)),
                ('branch', fields.CharField(max_length=255)),
                ('sha', fields.CharField(null=True, max_length=40)),
                ('wait_for_ci', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=DeployStatus.WAITING_FOR_CI, description='WAITING_FOR_CI: waiting_for_ci\nBUILDING: building\nSUCCEEDED: succeeded\nFAILED: failed\nSKIPPED: skipped\nSUPERSEDED: superseded', enum_type=DeployStatus, max_length=16)),
                ('message', fields.TextField(default='', unique=False)),
                ('build', fields.ForeignKeyField('pipegraph.Build', source_field='build_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('github_deployment_id', fields.BigIntField(null=True)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'github_deploys', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RepositoryConnection',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.OneToOneField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='repository', on_delete=OnDelete.CASCADE)),
                ('full_name', fields.CharField(db_index=True, max_length=140)),
                ('webhook_secret', fields.CharField(max_length=100)),
                ('installation_id', fields.BigIntField(null=True)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'github_connections', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewApp',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='review_apps', on_delete=OnDelete.CASCADE)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', null=True, db_constraint=True, to_field='id', related_name='review_app', on_delete=OnDelete.SET_NULL)),
                ('app_name', fields.CharField(max_length=30)),
                ('pr_number', fields.IntField()),
                ('branch', fields.CharField(max_length=255)),
                ('head_sha', fields.CharField(max_length=40)),
                ('building_sha', fields.CharField(null=True, max_length=40)),
                ('fork', fields.BooleanField(default=False)),
                ('wait_for_ci', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=ReviewAppStatus.PENDING, description='PENDING: pending\nCREATING: creating\nCREATED: created\nDELETING: deleting\nDELETED: deleted\nERRORED: errored', enum_type=ReviewAppStatus, max_length=16)),
                ('message', fields.TextField(default='', unique=False)),
                ('build', fields.ForeignKeyField('pipegraph.Build', source_field='build_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('github_deployment_id', fields.BigIntField(null=True)),
                ('app_json', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('postdeploy_ran', fields.BooleanField(default=False)),
                ('postdeploy_output', fields.TextField(null=True, unique=False)),
                ('predestroy_output', fields.TextField(null=True, unique=False)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('last_deployed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'review_apps', 'app': 'pipegraph', 'unique_together': (('pipeline', 'pr_number'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewAppConfig',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.OneToOneField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='review_app_config', on_delete=OnDelete.CASCADE)),
                ('automatic', fields.BooleanField(default=False)),
                ('destroy_stale_apps', fields.BooleanField(default=False)),
                ('stale_days', fields.IntField(default=5)),
                ('wait_for_ci', fields.BooleanField(default=False)),
                ('base_name', fields.CharField(max_length=24)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'review_app_configs', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StageConfigVars',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='stage_config_vars', on_delete=OnDelete.CASCADE)),
                ('stage', fields.CharEnumField(description='TEST: test\nREVIEW: review\nDEVELOPMENT: development\nSTAGING: staging\nPRODUCTION: production', enum_type=Stage, max_length=16)),
                ('vars', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pipeline_stage_config_vars', 'app': 'pipegraph', 'unique_together': (('pipeline', 'stage'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery_id', fields.CharField(unique=True, max_length=100)),
                ('event', fields.CharField(max_length=60)),
                ('action', fields.CharField(null=True, max_length=60)),
                ('repository', fields.CharField(null=True, db_index=True, max_length=140)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('outcome', fields.CharEnumField(default=DeliveryOutcome.QUEUED, description='QUEUED: queued\nPROCESSED: processed\nIGNORED: ignored\nFAILED: failed', enum_type=DeliveryOutcome, max_length=16)),
                ('message', fields.TextField(default='', unique=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'github_deliveries', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Pipeline',
            name='delete_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
