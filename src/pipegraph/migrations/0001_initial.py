from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from pipegraph.pipelines.models import Stage
from pipegraph.releases.models import ReleaseStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('pipegraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('description', fields.CharField(default='', max_length=200)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_tokens', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': 'Only the SHA-256 of a token is stored: tokens are random and long, so a slow hash would add nothing.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='App',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=30)),
                ('owner', fields.ForeignKeyField('pipegraph.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='apps', on_delete=OnDelete.RESTRICT)),
                ('stack', fields.CharField(max_length=40)),
                ('config_vars', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('release_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'apps', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Pipeline',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=30)),
                ('owner', fields.ForeignKeyField('pipegraph.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='pipelines', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pipelines', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PipelineCoupling',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='couplings', on_delete=OnDelete.CASCADE)),
                ('app', fields.OneToOneField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='coupling', on_delete=OnDelete.CASCADE)),
                ('stage', fields.CharEnumField(description='TEST: test\nREVIEW: review\nDEVELOPMENT: development\nSTAGING: staging\nPRODUCTION: production', enum_type=Stage, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pipeline_couplings', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': "An app's place in a pipeline. One per app, held by a unique constraint on `app`."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Slug',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='slugs', on_delete=OnDelete.CASCADE)),
                ('checksum', fields.CharField(max_length=71)),
                ('size', fields.BigIntField(null=True)),
                ('stack', fields.CharField(max_length=40)),
                ('process_types', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('commit', fields.CharField(null=True, max_length=64)),
                ('commit_description', fields.TextField(null=True, unique=False)),
                ('uploaded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'slugs', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': "An app's record of an immutable blob. Promotion gives the target its own record over the same blob."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Release',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='releases', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('status', fields.CharEnumField(description='PENDING: pending\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=ReleaseStatus, max_length=16)),
                ('is_current', fields.BooleanField(default=False)),
                ('slug', fields.ForeignKeyField('pipegraph.Slug', source_field='slug_id', db_constraint=True, to_field='id', related_name='releases', on_delete=OnDelete.RESTRICT)),
                ('description', fields.CharField(default='', max_length=500)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='releases', on_delete=OnDelete.SET_NULL)),
                ('source_release', fields.ForeignKeyField('pipegraph.Release', source_field='source_release_id', null=True, db_constraint=True, to_field='id', related_name='derived_releases', on_delete=OnDelete.SET_NULL)),
                ('error_message', fields.TextField(null=True, unique=False)),
                ('release_log', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'releases', 'app': 'pipegraph', 'unique_together': (('app', 'version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        # Exactly one current release per app, kept by the database (works on SQLite and PostgreSQL alike).
        ops.RunSQL(
            'CREATE UNIQUE INDEX "releases_one_current_per_app" ON "releases" ("app_id") WHERE is_current',
            reverse_sql='DROP INDEX "releases_one_current_per_app"',
        ),
    ]
