from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("pipegraph", "0016_user_indexes")]

    initial = False

    operations = [
        # The pending releases, which are few. Whether an app has one (every release into it asks, and every target
        # of a promotion) was a walk through all of the app's releases: a promotion to 50 apps of 1,000 releases
        # each took 2.5-4 times one to a single app, and the reconciler's look for due releases read every release.
        # A statement uses it when it names the status itself (SQLite also when it binds it).
        ops.RunSQL(
            'CREATE INDEX "releases_pending" ON "releases" ("app_id", "version") WHERE "status" = \'pending\'',
            reverse_sql='DROP INDEX "releases_pending"',
        ),
    ]
