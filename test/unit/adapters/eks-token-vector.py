# Reference for test/unit/adapters/eks-token.test.ts: botocore (1.44.5) presigns STS GetCallerIdentity
# exactly as `aws eks get-token` does (x-k8s-aws-id header added before signing, ExpiresIn=60, GET),
# at a fixed time. Independent of identity-relay's code (Python, botocore's own SigV4QueryAuth).
#   python3 -m venv /tmp/v && /tmp/v/bin/pip install botocore && /tmp/v/bin/python eks-token-vector.py
import base64
import datetime
from unittest import mock

import botocore.session


def token(cluster, region, key, secret, session_token=None):
    client = botocore.session.get_session().create_client(
        'sts', region_name=region, aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=session_token, endpoint_url=f'https://sts.{region}.amazonaws.com')

    def add_header(request, **kwargs):
        request.headers['x-k8s-aws-id'] = cluster

    client.meta.events.register('before-sign.sts.GetCallerIdentity', add_header)
    fixed = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with mock.patch('botocore.auth.get_current_datetime', return_value=fixed):
        url = client.generate_presigned_url(
            'get_caller_identity', Params={}, ExpiresIn=60, HttpMethod='GET')
    return url, 'k8s-aws-v1.' + base64.urlsafe_b64encode(url.encode()).decode().rstrip('=')


for session_token in (None, 'FQoGZXIvYXdzEXAMPLESESSIONTOKEN/+='):
    url, tok = token('prod-eu', 'eu-west-1', 'AKIDEXAMPLE',
                     'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', session_token)
    print(url)
    print(tok)
