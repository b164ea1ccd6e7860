from django.apps import AppConfig
from django.db.models.signals import pre_save


def approve_automatically(sender, instance, **kwargs):
    """Every application, dynamically registered ones included, skips the consent page:
    the test user "approves" at once, like a person clicking Allow."""
    instance.skip_authorization = True


class DotbedConfig(AppConfig):
    name = "dotbed"

    def ready(self):
        from oauth2_provider.models import get_application_model

        pre_save.connect(approve_automatically, sender=get_application_model(), dispatch_uid="dotbed-auto-approve")
