from tortoise import migrations
from tortoise.migrations import operations as ops
from pipegraph.accounts.models import BrowserSessionKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('pipegraph', '0005_builds')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BrowserSession',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('pipegraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='browser_sessions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='LOGIN: login\nSESSION: session', enum_type=BrowserSessionKind, max_length=10)),
                ('secret_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'browser_sessions', 'app': 'pipegraph', 'pk_attr': 'id', 'table_description': 'A sign-in of a browser, stored as the SHA-256 of its secret like an API token, ended on the server at sign-out.'},
            bases=['Model'],
        ),
    ]
