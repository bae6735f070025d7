SECRET_KEY = "convert-e2e"
INSTALLED_APPS = []
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
