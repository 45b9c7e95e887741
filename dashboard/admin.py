from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from dashboard.models import AccountGrant, PersonName, TeamMember
from integrations.rentengine.models import Account


class TeamMemberInline(admin.StackedInline):
    model = TeamMember
    can_delete = False
    verbose_name_plural = "Leasing Desk person (accounts and roles under Team members)"


class AccountGrantInline(admin.TabularInline):
    model = AccountGrant
    extra = 1
    verbose_name_plural = "Accounts, and the role in each"


class LeasingDeskUserAdmin(UserAdmin):
    inlines = [TeamMemberInline]


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "rentengine_user_id"]
    list_filter = ["grants__role", "accounts"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "rentengine_user_id"]
    inlines = [AccountGrantInline]
    autocomplete_fields = ["user"]


@admin.register(PersonName)
class PersonNameAdmin(admin.ModelAdmin):
    list_display = ["name", "user_id", "account"]
    search_fields = ["name", "user_id"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "id", "time_zone", "created_at"]
    search_fields = ["name", "id"]


admin.site.unregister(User)
admin.site.register(User, LeasingDeskUserAdmin)
admin.site.site_header = "Leasing Desk administration"
