"""HTTP surface beyond LangServe: the services built at startup and the routers per resource."""
