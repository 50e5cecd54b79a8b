"""The swarm topology's edge: Traefik v3 as the mirror's TLS proxy, Pebble as Let's Encrypt.

``traefik.TraefikEdge`` (Pebble + the Traefik stack, or the user's own
Traefik), ``pebble`` (the ACME CA), ``traefik_stack`` (the lab's stack file),
``user_traefik`` (a user's Traefik pointed at Pebble), ``acme_checks`` (what
the ACME checks observe), ``edge_lab`` (the edge alone, on one swarm node).
"""
