# ApiToken moved here from the api app. The table (api_apitoken) and its rows stay where they are:
# this migration adds the model to the tokens app's state only, and api's 0002 removes it from
# api's state only. The model's content type moves with it, so admin permissions and log entries
# keep pointing at it.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_to(app_label, other):
    def rename(apps, schema_editor):
        content_type = apps.get_model("contenttypes", "ContentType")
        content_type.objects.using(schema_editor.connection.alias).filter(
            app_label=other, model="apitoken"
        ).update(app_label=app_label)

    return rename


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("api", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('prefix', models.CharField(editable=False, max_length=8)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'api_apitoken',
                        'ordering': ['-created_at'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to("tokens", "api"), content_type_to("api", "tokens")),
    ]
