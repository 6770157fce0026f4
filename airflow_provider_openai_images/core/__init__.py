"""The pure core: model rules, requests, responses, retry policy and the httpx client.

Nothing in ``core`` imports Airflow. ``core.client`` imports httpx and is loaded lazily by the hook.
"""
