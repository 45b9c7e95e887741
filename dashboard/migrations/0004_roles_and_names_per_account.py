"""Roles and person names per account (issue 13): the grant list gains a role, copied from the
person's one role into every account they held; names given to RentEngine user ids are copied into
every account the id was seen in."""

from django.db import migrations, models


def roles_per_account(apps, schema_editor):
    TeamMember = apps.get_model("dashboard", "TeamMember")
    AccountGrant = apps.get_model("dashboard", "AccountGrant")
    for member_id, role in TeamMember.objects.values_list("id", "role"):
        AccountGrant.objects.filter(member_id=member_id).update(role=role)


def names_per_account(apps, schema_editor):
    RentEngineUser = apps.get_model("rentengine", "RentEngineUser")
    PersonName = apps.get_model("dashboard", "PersonName")
    through = RentEngineUser.accounts.through
    named = dict(RentEngineUser.objects.exclude(name="").values_list("id", "name"))
    PersonName.objects.bulk_create(
        [
            PersonName(account_id=account_id, user_id=user_id, name=named[user_id])
            for user_id, account_id in through.objects.filter(rentengineuser_id__in=list(named)).values_list(
                "rentengineuser_id", "account_id"
            )
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_saved_view"),
        ("rentengine", "0014_webhook_held"),
    ]
    run_before = [("rentengine", "0015_rentengineuser_name_per_account")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AccountGrant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("role", models.CharField(choices=[("manager", "Manager"), ("agent", "Agent")], default="agent", max_length=16)),
                        ("account", models.ForeignKey(on_delete=models.deletion.CASCADE, related_name="grants", to="rentengine.account")),
                        (
                            "member",
                            models.ForeignKey(
                                db_column="teammember_id", on_delete=models.deletion.CASCADE, related_name="grants", to="dashboard.teammember"
                            ),
                        ),
                    ],
                    options={"db_table": "dashboard_teammember_accounts"},
                ),
                migrations.AddConstraint(
                    model_name="accountgrant",
                    constraint=models.UniqueConstraint(fields=("member", "account"), name="one_grant_per_account"),
                ),
                migrations.AlterField(
                    model_name="teammember",
                    name="accounts",
                    field=models.ManyToManyField(blank=True, related_name="team_members", through="dashboard.AccountGrant", to="rentengine.account"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE dashboard_teammember_accounts ADD COLUMN role varchar(16) NOT NULL DEFAULT 'agent'",
                    "ALTER TABLE dashboard_teammember_accounts DROP COLUMN role",
                ),
            ],
        ),
        migrations.RunPython(roles_per_account, migrations.RunPython.noop),
        migrations.RemoveField(model_name="teammember", name="role"),
        migrations.CreateModel(
            name="PersonName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.UUIDField()),
                ("name", models.CharField(max_length=200)),
                ("account", models.ForeignKey(on_delete=models.deletion.CASCADE, related_name="+", to="rentengine.account")),
            ],
        ),
        migrations.AddConstraint(
            model_name="personname",
            constraint=models.UniqueConstraint(fields=("account", "user_id"), name="one_name_per_account"),
        ),
        migrations.RunPython(names_per_account, migrations.RunPython.noop),
    ]
