from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0011_review_app_ci_deadline')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CliLogin',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('secret_hash', fields.CharField(unique=True, max_length=64)),
                ('host', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('user', fields.ForeignKeyField('pipegraph.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='cli_logins', on_delete=OnDelete.CASCADE)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('refused_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('collected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cli_logins', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': '`pipegraph login` in a browser: the CLI starts one, a signed-in dashboard user confirms it, the CLI collects a'},
            bases=['Model'],
        ),
    ]
