"""The AWS CDK app of Cobrança: one stack (`CobrancaStack`) built from small constructs.

`settings` reads and validates the CDK context; `stack` wires the constructs together; every other
module is one concern (tables, queues, functions, API, scheduling, voice bridge, alarms, cdk-nag).
"""
