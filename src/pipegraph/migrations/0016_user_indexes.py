from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("pipegraph", "0015_review_app_crashes")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="AppCollaborator",
            index=Index(fields=["user_id"]),
        ),
        ops.AddIndex(
            model_name="PipelineAccessGrant",
            index=Index(fields=["user_id"]),
        ),
        ops.AddIndex(
            model_name="TeamMembership",
            index=Index(fields=["user_id"]),
        ),
    ]
