from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from pipegraph.builds.models import BuildStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0004_release_attempts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AppBuildpacks',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.OneToOneField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='buildpack_list', on_delete=OnDelete.CASCADE)),
                ('buildpacks', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'app_buildpacks', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': "An app's ordered buildpack list, as Heroku's `buildpacks:set` keeps it (no row: the defaults detect)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Build',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='builds', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=BuildStatus.PENDING, description='PENDING: pending\nBUILDING: building\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=BuildStatus, max_length=16)),
                ('source_url', fields.TextField(unique=False)),
                ('source_checksum', fields.CharField(null=True, max_length=71)),
                ('source_version', fields.CharField(null=True, max_length=255)),
                ('source_description', fields.TextField(null=True, unique=False)),
                ('buildpacks', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('buildpacks_used', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('output', fields.TextField(default='', unique=False)),
                ('error_message', fields.TextField(null=True, unique=False)),
                ('slug', fields.ForeignKeyField('pipegraph.Slug', source_field='slug_id', null=True, db_constraint=True, to_field='id', related_name='builds', on_delete=OnDelete.SET_NULL)),
                ('release', fields.ForeignKeyField('pipegraph.Release', source_field='release_id', null=True, db_constraint=True, to_field='id', related_name='builds', on_delete=OnDelete.SET_NULL)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='builds', on_delete=OnDelete.SET_NULL)),
                ('attempts', fields.IntField(default=0)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'builds', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': 'Source turned into a slug by buildpacks, then released. Worked by one arq job at a time (a lease).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Source',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='sources', on_delete=OnDelete.CASCADE)),
                ('checksum', fields.CharField(null=True, max_length=71)),
                ('size', fields.BigIntField(null=True)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='sources', on_delete=OnDelete.SET_NULL)),
                ('uploaded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sources', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': "A source tarball uploaded by one PUT (Heroku's `/sources`), or archived from a pushed commit."},
            bases=['Model'],
        ),
    ]
