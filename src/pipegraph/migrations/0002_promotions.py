from tortoise import migrations
from tortoise.migrations import operations as ops
from pipegraph.promotions.models import PromotionStatus, TargetStatus, TargetStep
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Promotion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pipeline', fields.ForeignKeyField('pipegraph.Pipeline', source_field='pipeline_id', db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.CASCADE)),
                ('source_app', fields.ForeignKeyField('pipegraph.App', source_field='source_app_id', db_constraint=True, to_field='id', related_name='promotions_out', on_delete=OnDelete.CASCADE)),
                ('source_release', fields.ForeignKeyField('pipegraph.Release', source_field='source_release_id', db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=PromotionStatus.PENDING, description='PENDING: pending\nCOMPLETED: completed', enum_type=PromotionStatus, max_length=16)),
                ('created_by', fields.ForeignKeyField('pipegraph.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'promotions', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': 'One promotion of a source release to one or more apps, COMPLETED once every target is terminal.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PromotionTarget',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('promotion', fields.ForeignKeyField('pipegraph.Promotion', source_field='promotion_id', db_constraint=True, to_field='id', related_name='targets', on_delete=OnDelete.CASCADE)),
                ('app', fields.ForeignKeyField('pipegraph.App', source_field='app_id', db_constraint=True, to_field='id', related_name='promotion_targets', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=TargetStatus.PENDING, description='PENDING: pending\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=TargetStatus, max_length=16)),
                ('step', fields.CharEnumField(default=TargetStep.QUEUED, description='QUEUED: queued\nCOPYING_SLUG: copying_slug\nUPDATING_STACK: updating_stack\nRELEASE_PHASE: release_phase\nDONE: done', enum_type=TargetStep, max_length=16)),
                ('error_message', fields.TextField(null=True, unique=False)),
                ('slug', fields.ForeignKeyField('pipegraph.Slug', source_field='slug_id', null=True, db_constraint=True, to_field='id', related_name='promotion_targets', on_delete=OnDelete.SET_NULL)),
                ('release', fields.ForeignKeyField('pipegraph.Release', source_field='release_id', null=True, db_constraint=True, to_field='id', related_name='promotion_targets', on_delete=OnDelete.SET_NULL)),
                ('sequence', fields.IntField(default=0)),
                ('attempts', fields.IntField(default=0)),
                ('lease_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'promotion_targets', 'app': 'pipegraph', 'unique_together': (('promotion', 'app'),), 'pk_attr': 'id', 'table_description': 'One app a promotion goes to, worked by one job. `sequence` grows with every persisted change.'},
            bases=['Model'],
        ),
    ]
