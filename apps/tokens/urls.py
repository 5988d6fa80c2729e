# OCPI routes of this module: CPO side under ocpi/cpo/2.2.1/, eMSP side under ocpi/emsp/2.2.1/.
urlpatterns: list = []
