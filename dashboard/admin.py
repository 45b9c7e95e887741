from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from dashboard.models import TeamMember
from integrations.rentengine.models import Account


class TeamMemberInline(admin.StackedInline):
    model = TeamMember
    can_delete = False
    filter_horizontal = ["accounts"]
    verbose_name_plural = "Leasing Desk role and accounts"


class LeasingDeskUserAdmin(UserAdmin):
    inlines = [TeamMemberInline]


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "role", "rentengine_user_id"]
    list_filter = ["role", "accounts"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "rentengine_user_id"]
    filter_horizontal = ["accounts"]
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "id", "time_zone", "created_at"]
    search_fields = ["name", "id"]


admin.site.unregister(User)
admin.site.register(User, LeasingDeskUserAdmin)
admin.site.site_header = "Leasing Desk administration"
