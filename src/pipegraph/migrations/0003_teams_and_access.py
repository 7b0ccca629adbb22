from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from pipegraph.pipelines.models import default_auto_join_permissions
from pipegraph.teams.models import TeamKind, TeamRole
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0002_promotions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AppCollaborator',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='collaborators', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('pipegraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='collaborations', on_delete=OnDelete.CASCADE)),
                ('permissions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'app_collaborators', 'app': 'pipegraph', 'unique_together': (('app', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PipelineAccessGrant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='access_grants', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('pipegraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='pipeline_grants', on_delete=OnDelete.CASCADE)),
                ('permissions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pipeline_access_grants', 'app': 'pipegraph', 'unique_together': (('pipeline', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Team',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=30)),
                ('kind', fields.CharEnumField(description='TEAM: team\nENTERPRISE_TEAM: enterprise_team', enum_type=TeamKind, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'teams', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PipelineTransfer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='transfers', on_delete=OnDelete.CASCADE)),
                ('previous_owner_user', fields.ForeignKeyField('pipegraph.User', source_field='previous_owner_user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('previous_owner_team', fields.ForeignKeyField('pipegraph.Team', source_field='previous_owner_team_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('new_owner_user', fields.ForeignKeyField('pipegraph.User', source_field='new_owner_user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('new_owner_team', fields.ForeignKeyField('pipegraph.Team', source_field='new_owner_team_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('transferred_by', fields.ForeignKeyField('pipegraph.User', source_field='transferred_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pipeline_transfers', 'app': 'pipegraph', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TeamMembership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('pipegraph.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('pipegraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='ADMIN: admin\nMEMBER: member\nCOLLABORATOR: collaborator', enum_type=TeamRole, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'team_memberships', 'app': 'pipegraph', 'unique_together': (('team', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='App',
            name='ephemeral',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='App',
            name='team',
            field=fields.ForeignKeyField('pipegraph.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='apps', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Pipeline',
            name='auto_join',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Pipeline',
            name='auto_join_permissions',
            field=fields.JSONField(default=default_auto_join_permissions, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Pipeline',
            name='team',
            field=fields.ForeignKeyField('pipegraph.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='pipelines', on_delete=OnDelete.RESTRICT),
        ),
    ]
