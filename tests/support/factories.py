import factory

from accounts.models import User
from materials.models import Material


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"student{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class MaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Material

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Lecture {n}")
    kind = Material.Kind.PDF
